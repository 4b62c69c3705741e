import Testing
@testable import NetCore

@Suite struct IPAddressTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        // RFC 5952 §4.2.2: a single zero group is not compressed.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // §4.2.3: the first of two equal runs is compressed.
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    ])
    func formatsCanonically(input: String, expected: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == expected)
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1::2::3", "12345::", "g::1", "1:2:3:4:5:6:7:8:9"])
    func rejectsInvalid(input: String) {
        #expect(IPAddress(input) == nil)
    }

    @Test func masksPrefixes() throws {
        #expect(IPAddress("192.0.2.77")!.masked(to: 24).description == "192.0.2.0")
        #expect(IPAddress("192.0.2.77")!.masked(to: 0).description == "0.0.0.0")
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.masked(to: 48).description == "2001:db8:1::")
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.masked(to: 80).description == "2001:db8:1:2:3::")
        #expect(IPAddress("2001:db8:1:2:3:4:5:6")!.masked(to: 128) == IPAddress("2001:db8:1:2:3:4:5:6")!)
        let prefix = try #require(IPPrefix("10.1.0.0/16"))
        #expect(prefix.contains(IPAddress("10.1.200.3")!))
        #expect(!prefix.contains(IPAddress("10.2.0.1")!))
        #expect(!prefix.contains(IPAddress("::ffff:10.1.0.1")!))
    }

    @Test func familiesStayApart() {
        #expect(IPAddress(v4: 0xc000_0201) != IPAddress("::ffff:192.0.2.1")!)
        #expect(IPAddress.none.description == "")
    }
}
