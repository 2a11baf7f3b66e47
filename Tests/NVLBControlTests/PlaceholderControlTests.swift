import Testing

@Suite struct PlaceholderControlTests {
    @Test func moduleBuilds() { #expect(Bool(true)) }
}
