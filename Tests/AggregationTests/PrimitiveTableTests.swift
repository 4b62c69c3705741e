import NetCore
import Testing
@testable import Aggregation

/// The primitive table: every primitive described once and consistently.
@Suite struct PrimitiveTableTests {
    @Test func everyPrimitiveHasOneDescriptionAndAUniqueColumn() {
        #expect(PrimitiveSpec.all.count == Primitive.allCases.count)
        #expect(Set(PrimitiveSpec.all.map(\.primitive)).count == Primitive.allCases.count)
        #expect(Set(Primitive.allCases.map(\.column)).count == Primitive.allCases.count)
        #expect(Set(Primitive.tableOrder) == Set(Primitive.allCases))
    }

    /// pmacct's column names for the primitives whose names differ from their columns.
    @Test func pmacctColumnNames() {
        let expected: [Primitive: String] = [
            .srcHost: "ip_src", .dstHost: "ip_dst", .proto: "ip_proto", .tcpFlags: "tcp_flags",
            .peerSrcIP: "peer_ip_src", .peerDstIP: "peer_ip_dst", .inIface: "iface_in", .outIface: "iface_out",
            .srcMask: "mask_src", .dstMask: "mask_dst", .srcNet: "net_src", .dstNet: "net_dst",
            .srcAS: "as_src", .dstAS: "as_dst", .peerSrcAS: "peer_as_src", .peerDstAS: "peer_as_dst",
            .stdComm: "comms", .extComm: "ecomms", .lrgComm: "lcomms",
        ]
        for (p, column) in expected { #expect(p.column == column, "\(p)") }
    }

    /// A packed key holds each value whole: the width fits the kind.
    @Test func packedWidthsHoldTheValues() {
        for spec in PrimitiveSpec.all {
            switch spec.kind {
            case .address: #expect(spec.packedWidth == 16)
            case .unsigned(let bits): #expect(spec.packedWidth * 8 == bits, "\(spec.primitive)")
            case .text: #expect(spec.packedWidth == 4)
            case .protocolNumber, .pathMatch: #expect(spec.packedWidth == 1)
            }
        }
    }

    @Test func columnTypesPerBackend() {
        #expect(Primitive.srcHost.spec.sqliteType(numericProtocols: false) == "CHAR(45) NOT NULL DEFAULT '0.0.0.0'")
        #expect(Primitive.proto.spec.sqliteType(numericProtocols: false) == "CHAR(6) NOT NULL DEFAULT 0")
        #expect(Primitive.proto.spec.sqliteType(numericProtocols: true) == "INT(2) NOT NULL DEFAULT 0")
        #expect(Primitive.inIface.spec.clickhouseType(numericProtocols: false) == "UInt32")
        #expect(Primitive.dstPort.spec.clickhouseType(numericProtocols: false) == "UInt16")
        #expect(Primitive.proto.spec.clickhouseType(numericProtocols: true) == "UInt8")
        #expect(Primitive.asPath.spec.clickhouseType(numericProtocols: true) == "String")
    }

    @Test func valuesAsWritten() {
        var k = FlowKey()
        k.srcAddr = IPAddress(v4: 0x0A00_0001)
        k.proto = 6
        k.asPath = 1
        k.pathMatch = PathMatchCode.noRoute.rawValue
        k.inIface = 4_000_000_000
        let texts = ["", "65001 65002"]
        #expect(k.value(of: .srcHost, texts: texts, numericProtocols: false) == .address(IPAddress(v4: 0x0A00_0001)))
        #expect(k.value(of: .dstHost, texts: texts, numericProtocols: false) == .address(.none))
        #expect(k.value(of: .proto, texts: texts, numericProtocols: false) == .text("tcp"))
        #expect(k.value(of: .proto, texts: texts, numericProtocols: true) == .integer(6))
        #expect(k.value(of: .asPath, texts: texts, numericProtocols: false) == .text("65001 65002"))
        // A number the pool does not know (never handed out) is written empty, not a crash.
        #expect(k.value(of: .stdComm, texts: [""], numericProtocols: false) == .text(""))
        #expect(k.value(of: .pathMatch, texts: texts, numericProtocols: false) == .text("no_route"))
        #expect(k.value(of: .inIface, texts: texts, numericProtocols: false) == .integer(4_000_000_000))
    }
}
