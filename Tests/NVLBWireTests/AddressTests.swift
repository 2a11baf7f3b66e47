import Testing
import NVLBWire

@Suite struct AddressTests {
    @Test(arguments: ["10.1.6.21", "0.0.0.0", "255.255.255.255", "192.168.6.2"])
    func ipv4RoundTrip(_ text: String) throws {
        let address = try #require(IPv4Address(text))
        #expect(address.description == text)
    }

    @Test(arguments: ["10.1.6", "10.1.6.256", "10.1.6.021", "a.b.c.d", "10..6.1", "", "1.2.3.4.5", " 1.2.3.4"])
    func ipv4Rejects(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test func ipv4Value() {
        #expect(IPv4Address("10.1.6.21")?.rawValue == 0x0A01_0615)
        #expect(IPv4Address(10, 1, 6, 21).rawValue == 0x0A01_0615)
    }

    @Test func macRoundTrip() throws {
        let mac = try #require(MACAddress("02:4c:42:00:06:02"))
        #expect(mac.rawValue == 0x024C_4200_0602)
        #expect(mac.description == "02:4c:42:00:06:02")
        #expect(MACAddress("02-4C-42-00-06-02") == mac)
        #expect(!mac.isMulticast)
        #expect(MACAddress.broadcast.isMulticast)
    }

    @Test(arguments: ["02:4c:42:00:06", "02:4c:42:00:06:0g", "2:4c:42:00:06:02", "02:4c:42:00:06:02:01"])
    func macRejects(_ text: String) {
        #expect(MACAddress(text) == nil)
    }
}
