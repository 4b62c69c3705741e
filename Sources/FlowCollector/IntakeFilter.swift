import NetCore
import Synchronization

/// pmacct's nfacctd_allow_file: the exporters whose datagrams are decoded. Others are counted
/// and dropped before any state is made for them. The list can be replaced while running
/// (SIGUSR2); sockets notice through a generation number and keep their own copy.
public final class IntakeFilter: Sendable {
    /// Addresses and prefixes allowed; hosts are kept apart for a hash lookup.
    public struct AllowList: Sendable {
        var hosts: Set<IPAddress> = []
        var prefixes: [IPPrefix] = []

        public init(_ entries: [IPPrefix]) {
            for entry in entries {
                let hostLength: UInt8 = entry.address.family == .v4 ? 32 : 128
                if entry.length == hostLength { hosts.insert(entry.address) } else { prefixes.append(entry) }
            }
        }

        public func contains(_ address: IPAddress) -> Bool {
            hosts.contains(address) || prefixes.contains { $0.contains(address) }
        }
    }

    private let list: Mutex<AllowList?>
    let generation = Atomic<Int>(0)
    let deniedCount = Atomic<UInt64>(0)

    /// nil allows every exporter.
    public init(_ allow: [IPPrefix]?) {
        list = Mutex(allow.map(AllowList.init))
    }

    /// Datagrams dropped because their sender is not in the list, so far.
    public var denied: UInt64 { deniedCount.load(ordering: .relaxed) }

    public func replace(_ allow: [IPPrefix]?) {
        list.withLock { $0 = allow.map(AllowList.init) }
        generation.add(1, ordering: .releasing)
    }

    func current() -> AllowList? {
        list.withLock { $0 }
    }
}

/// One socket's view of the filter: the list as of the last generation it saw, and the last
/// sender's verdict (exporters send runs of datagrams).
struct IntakeFilterCache {
    let filter: IntakeFilter
    var generation = -1
    var list: IntakeFilter.AllowList?
    var lastSender = IPAddress.none
    var lastAllowed = true

    init(_ filter: IntakeFilter) {
        self.filter = filter
    }

    mutating func allows(_ sender: IPAddress) -> Bool {
        let now = filter.generation.load(ordering: .acquiring)
        if now != generation {
            generation = now
            list = filter.current()
            lastSender = .none
        }
        guard let list else { return true }
        if sender != lastSender {
            lastSender = sender
            lastAllowed = list.contains(sender)
        }
        if !lastAllowed { filter.deniedCount.add(1, ordering: .relaxed) }
        return lastAllowed
    }
}
