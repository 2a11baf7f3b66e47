import NVLBControl
import NVLBPolicy
import Testing

/// `underlay.mss_clamp` and `underlay.icmp_rate` (docs/configuration.md): defaults, values,
/// and the positioned diagnostic of each invalid value.
@Suite("Path MTU keys")
struct PathMTUKeysTests {
    /// `baseYAML` with `lines` added to `underlay:` (after its `mac:`, line 3): they start on line 4.
    func underlay(_ lines: String) -> String {
        base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n" + lines))
    }

    @Test func defaults() throws {
        let underlay = try configuration(baseYAML).underlay
        #expect(underlay.mssClamp == .auto)
        #expect(underlay.effectiveMSSClamp == 1418)
        #expect(underlay.icmpRate == 1000)
        let snapshot = PolicySnapshot(configuration: try configuration(baseYAML))
        #expect(snapshot.mssClamp == 1418)
        #expect(snapshot.icmpRate == 1000)
    }

    @Test func values() throws {
        #expect(try configuration(underlay("  mss_clamp: off")).underlay.effectiveMSSClamp == 0)
        #expect(try configuration(underlay("  mss_clamp: 1200")).underlay.mssClamp == .value(1200))
        #expect(try configuration(underlay("  mss_clamp: auto")).underlay.mssClamp == .auto)
        // auto follows the MTU: 9000 − 42 − 40.
        let jumbo = try configuration(underlay("  mtu: 9000\n  mss_clamp: auto")).underlay
        #expect(jumbo.effectiveMSSClamp == 8918)
        #expect(try configuration(underlay("  mtu: 9000\n  mss_clamp: 8918")).underlay.effectiveMSSClamp == 8918)
        #expect(try configuration(underlay("  icmp_rate: 0")).underlay.icmpRate == 0)
        #expect(try configuration(underlay("  icmp_rate: 50000")).underlay.icmpRate == 50000)
    }

    @Test func mssClampAboveWhatFitsTheMTU() {
        #expect(
            problems(underlay("  mss_clamp: 1419")) == [
                "t.yaml:4:14: underlay.mss_clamp: must be 'auto', 'off' or between 88 and 1418 "
                    + "(underlay.mtu 1500 − 42 NVGRE − 40 IPv4/TCP), found 1419"
            ])
        #expect(
            problems(underlay("  mtu: 9000\n  mss_clamp: 8919")) == [
                "t.yaml:5:14: underlay.mss_clamp: must be 'auto', 'off' or between 88 and 8918 "
                    + "(underlay.mtu 9000 − 42 NVGRE − 40 IPv4/TCP), found 8919"
            ])
    }

    @Test func mssClampTooSmall() {
        #expect(
            problems(underlay("  mss_clamp: 87")) == [
                "t.yaml:4:14: underlay.mss_clamp: must be 'auto', 'off' or between 88 and 1418 "
                    + "(underlay.mtu 1500 − 42 NVGRE − 40 IPv4/TCP), found 87"
            ])
    }

    @Test func mssClampNotAWordOrNumber() {
        let found = problems(underlay("  mss_clamp: on"))
        #expect(found.count == 1)
        #expect(
            found.first?.hasPrefix("t.yaml:4:14: underlay.mss_clamp: expected 'auto', 'off' or an MSS in bytes, found")
                == true)
    }

    @Test func icmpRateOutOfRange() {
        #expect(
            problems(underlay("  icmp_rate: -1")) == [
                "t.yaml:4:14: underlay.icmp_rate: must be between 0 and 1000000, found -1"
            ])
        #expect(
            problems(underlay("  icmp_rate: 1000001")) == [
                "t.yaml:4:14: underlay.icmp_rate: must be between 0 and 1000000, found 1000001"
            ])
        let found = problems(underlay("  icmp_rate: fast"))
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("t.yaml:4:14: underlay.icmp_rate: expected an integer") == true)
    }

    @Test func allAtOnce() {
        // Every problem is reported, each at its own position.
        #expect(
            problems(underlay("  mss_clamp: 5000\n  icmp_rate: -5")).count == 2)
    }
}
