import Testing

@Suite struct PlaceholderCLITests {
    @Test func moduleBuilds() { #expect(Bool(true)) }
}
