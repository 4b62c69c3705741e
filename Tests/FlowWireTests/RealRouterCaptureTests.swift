import Foundation
import Testing
import TestServers
import NetCore
@testable import FlowWire

/// Real routers' exports from the shared capture directory (`../shared/realdata-pcaps` beside the
/// repository, or $REALDATA_PCAPS; origin of each file in its README). tools/e2e case 23 compares
/// every capture with tshark through the collector; these tests pin the decoder's side of each
/// quirk on the routers' own bytes.
@Suite(.enabled(if: RealCaptures.available, "no capture directory at \(RealCaptures.directory.path)"))
struct RealRouterCaptureTests {
    static func decode(_ name: String, onePort: Bool = false) throws -> (records: [FlowRecord], outcomes: [DecodeOutcome]) {
        var decoder = FlowDecoder()
        var records: [FlowRecord] = []
        var outcomes: [DecodeOutcome] = []
        for d in try RealCaptures.datagrams(name) {
            outcomes.append(d.payload.withUnsafeBytes {
                decoder.decode($0, from: d.source, port: onePort ? 9999 : d.port, into: &records)
            })
        }
        return (records, outcomes)
    }

    /// IOS XR templates carrying both families (313, MPLS): no flow is filed under 0.0.0.0 -> 0.0.0.0.
    @Test(arguments: ["pm400a-cisco-xr7101-srv6", "pm401a-cisco-xr7101-mpls-ipv6", "pm401b-cisco-xr7101-mpls-ipv6",
                      "pm403-cisco-xr2441-vrf", "pm501-cisco-xr7101-mpls-ipv6", "pm502-cisco-xr7101-srv6"])
    func noFlowLosesItsAddresses(capture: String) throws {
        let (records, outcomes) = try Self.decode(capture)
        #expect(outcomes.allSatisfy { $0.error == nil })
        #expect(!records.isEmpty)
        let unaddressed = records.filter { $0.srcAddr.high == 0 && $0.srcAddr.low == 0 && $0.dstAddr.high == 0 && $0.dstAddr.low == 0 }
        #expect(unaddressed.isEmpty, "\(unaddressed.count) of \(records.count) flows without addresses")
        #expect(records.contains { $0.srcAddr.family == .v6 })
    }

    /// IPv4 flows in SRv6 templates do not take the outer IPv6 header's prefix lengths.
    @Test(arguments: ["pm400a-cisco-xr7101-srv6", "pm403-cisco-xr2441-vrf", "pm500-cisco-xr782-srv6",
                      "pm502-cisco-xr7101-srv6"])
    func ipv4FlowsHaveIPv4Masks(capture: String) throws {
        let (records, _) = try Self.decode(capture)
        let v4 = records.filter { $0.srcAddr.family == .v4 }
        #expect(!v4.isEmpty)
        #expect(v4.allSatisfy { $0.srcMask <= 32 && $0.dstMask <= 32 })
    }

    /// Akvorado's physicalinterfaces capture: IPFIX with both families' address fields, IPv4 flows,
    /// interfaces in IE 252/253 only.
    @Test func physicalInterfacesAndIPv4InATwoFamilyTemplate() throws {
        let (records, _) = try Self.decode("akv-physicalinterfaces")
        #expect(records.count == 8)
        #expect(records.allSatisfy { $0.srcAddr.family == .v4 && $0.inIface != 0 })
    }

    /// pm112: two transport sessions of one address; the second sends data for templates only the
    /// first defined, so none of it decodes (as tshark decodes it), and the two sessions' sequence
    /// numbers, 1.28 M apart, are not taken for a loss.
    /// Taken as one session, the first one's template would decode the second's data.
    @Test func templatesStayInTheirTransportSession() throws {
        let (records, outcomes) = try Self.decode("pm112-cisco-ipfix-options-reassign")
        #expect(records.isEmpty)
        #expect(outcomes.reduce(0) { $0 + $1.unknownTemplateSets } > 0)
        // The second session's own numbering skips one record before its last message.
        #expect(outcomes.reduce(0) { $0 + $1.sequenceLost } <= 1)
        #expect(outcomes.allSatisfy { !$0.sequenceReset })
        let merged = try Self.decode("pm112-cisco-ipfix-options-reassign", onePort: true)
        #expect(!merged.records.isEmpty)
    }

    /// RFC 5103 biflows from CESNET's ipfixprobe: the forward direction (reverse elements are
    /// enterprise-specific and not read).
    @Test func biflowsCountTheirForwardDirection() throws {
        let (records, _) = try Self.decode("akv-ipfixprobe-biflow")
        #expect(records.count == 4)
        #expect(records.first?.packets == 1 && records.first?.bytes == 62)
    }

    /// Records of templates with no traffic fields (Juniper's CPID, an RFC 7133 frame section) are
    /// not flows, and nothing is an error.
    @Test(arguments: ["akv-juniper-cpid", "akv-datalink"])
    func eventRecordsAreNotFlows(capture: String) throws {
        let (records, outcomes) = try Self.decode(capture)
        #expect(records.isEmpty)
        #expect(outcomes.allSatisfy { $0.error == nil })
        #expect(outcomes.reduce(0) { $0 + $1.recordsWithoutFlowFields } > 0)
    }
}
