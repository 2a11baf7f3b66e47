import Testing

@Suite struct PlaceholderBalancingTests {
    @Test func moduleBuilds() { #expect(Bool(true)) }
}
