import NVLBControl
import NVLBPolicy
import Testing

/// `underlay.io` (docs/configuration.md, docs/operations.md "I/O backends"): the live I/O
/// backend, `pcap` by default.
@Suite struct UnderlayIOTests {
    @Test func defaultsToPcap() throws {
        #expect(try configuration(base()).underlay.io == .pcap)
    }

    @Test func readsBothBackends() throws {
        let xdp = base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  io: af_xdp"))
        #expect(try configuration(xdp).underlay.io == .afXDP)
        let pcap = base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  io: pcap"))
        #expect(try configuration(pcap).underlay.io == .pcap)
    }

    @Test func anOtherValueIsAPositionedError() {
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  io: dpdk"))) == [
                "t.yaml:4:7: underlay.io: expected one of pcap, af_xdp; found 'dpdk'"
            ])
    }
}
