import Testing

@Test func placeholderMediaDecodingTests() {}
