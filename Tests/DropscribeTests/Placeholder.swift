import Testing

@Test func placeholderDropscribeTests() {}
