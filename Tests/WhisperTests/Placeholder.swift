import Testing

@Test func placeholderWhisperTests() {}
