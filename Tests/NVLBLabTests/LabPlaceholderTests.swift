import Testing

@Suite struct LabPlaceholderTests {
    @Test func targetBuilds() { #expect(Bool(true)) }
}
