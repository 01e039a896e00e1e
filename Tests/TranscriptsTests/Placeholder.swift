import Testing

@Test func placeholderTranscriptsTests() {}
