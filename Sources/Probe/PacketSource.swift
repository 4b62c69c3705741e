import FlowWire
import CPcap

#if canImport(Glibc)
import Glibc
#endif

public struct CaptureError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Packets from libpcap: a savefile read to its end, or a live interface read until stopped.
/// Used from one thread at a time.
public final class PacketSource {
    let handle: OpaquePointer
    public let isFile: Bool
    public let linkType: PacketParser.LinkType?
    public let linkTypeName: String

    /// One read.
    public enum Next {
        /// `data` is valid until the next call; `micros` is the capture time since the epoch.
        case packet(data: UnsafeRawPointer, captured: Int, micros: UInt64)
        /// Live capture: the read timeout passed with no packet.
        case timeout
        /// The end of the file (or the capture was broken off).
        case end
    }

    static func text(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private init(handle: OpaquePointer, isFile: Bool) {
        self.handle = handle
        self.isFile = isFile
        let dlt = pcap_datalink(handle)
        linkType = PacketParser.LinkType(rawValue: dlt)
        linkTypeName = pcap_datalink_val_to_name(dlt).map { String(cString: $0) } ?? "DLT \(dlt)"
    }

    deinit {
        pcap_close(handle)
    }

    /// A savefile (pcap or pcapng), timestamps read at microsecond precision.
    public static func file(path: String, filter: String?) throws -> PacketSource {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_open_offline_with_tstamp_precision(
            path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), &errorBuffer)
        else {
            throw CaptureError("cannot read \(path): \(Self.text(errorBuffer))")
        }
        let source = PacketSource(handle: handle, isFile: true)
        try source.apply(filter: filter)
        return source
    }

    /// A live interface. `timeoutMilliseconds` bounds how long a read waits, so the caller can
    /// expire flows and notice a stop request while the link is quiet.
    public static func live(
        interface: String, snaplen: Int, promiscuous: Bool, filter: String?, bufferBytes: Int = 8 << 20,
        timeoutMilliseconds: Int32 = 200
    ) throws -> PacketSource {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let handle = pcap_create(interface, &errorBuffer) else {
            throw CaptureError("cannot capture on \(interface): \(Self.text(errorBuffer))")
        }
        pcap_set_snaplen(handle, Int32(snaplen))
        pcap_set_promisc(handle, promiscuous ? 1 : 0)
        pcap_set_timeout(handle, timeoutMilliseconds)
        pcap_set_buffer_size(handle, Int32(clamping: bufferBytes))
        let status = pcap_activate(handle)
        if status < 0 {
            let message = String(cString: pcap_geterr(handle))
            let reason = String(cString: pcap_statustostr(status))
            pcap_close(handle)
            throw CaptureError("cannot capture on \(interface): \(reason)\(message.isEmpty ? "" : " (\(message))")")
        }
        // Non-blocking reads and our own poll(): libpcap's read timeout does not fire on a
        // quiet link with TPACKET_V3, and a stop request must be noticed there too.
        guard pcap_setnonblock(handle, 1, &errorBuffer) == 0 else {
            pcap_close(handle)
            throw CaptureError("cannot capture on \(interface): \(Self.text(errorBuffer))")
        }
        let source = PacketSource(handle: handle, isFile: false)
        source.pollMilliseconds = timeoutMilliseconds
        source.selectable = pcap_get_selectable_fd(handle)
        try source.apply(filter: filter)
        return source
    }

    private var pollMilliseconds: Int32 = 200
    private var selectable: Int32 = -1
    private var waited = false

    private func apply(filter: String?) throws {
        guard let filter, !filter.isEmpty else { return }
        var program = bpf_program()
        guard pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CaptureError("invalid pcap_filter '\(filter)': \(String(cString: pcap_geterr(handle)))")
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw CaptureError("cannot apply pcap_filter '\(filter)': \(String(cString: pcap_geterr(handle)))")
        }
    }

    public func next() throws -> Next {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        let status = pcap_next_ex(handle, &header, &data)
        switch status {
        case 1:
            waited = false
            let h = header!.pointee
            let micros = UInt64(max(0, h.ts.tv_sec)) &* 1_000_000 &+ UInt64(max(0, h.ts.tv_usec))
            return .packet(data: UnsafeRawPointer(data!), captured: Int(h.caplen), micros: micros)
        case 0:
            // Live and nothing buffered: wait for the socket once, then report a timeout if
            // still nothing (a signal ends the wait early).
            if waited {
                waited = false
                return .timeout
            }
            var fd = pollfd(fd: selectable, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, pollMilliseconds)
            if ready <= 0 { return .timeout }
            waited = true
            return try next()
        case PCAP_ERROR_BREAK:
            return .end
        default:
            throw CaptureError("capture failed: \(String(cString: pcap_geterr(handle)))")
        }
    }

    /// Packets the kernel dropped (buffer full) and the interface dropped, for live capture.
    public func drops() -> (kernel: UInt64, interface: UInt64)? {
        guard !isFile else { return nil }
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return (UInt64(stats.ps_drop), UInt64(stats.ps_ifdrop))
    }
}
