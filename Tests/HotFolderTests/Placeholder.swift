import Testing

@Test func placeholderHotFolderTests() {}
