import Testing

@Suite struct PlaceholderDataplaneTests {
    @Test func moduleBuilds() { #expect(Bool(true)) }
}
