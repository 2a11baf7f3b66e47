import Testing

@Suite struct PlaceholderRuntimeTests {
    @Test func moduleBuilds() { #expect(Bool(true)) }
}
