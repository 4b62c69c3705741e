import BGPWire
import NetCore

/// The RIB's tables: plain data behind one pointer, so readers reach them without reference
/// counting, copies or exclusivity checks. The RIB's lock orders readers against the writer.
struct RIBCore: BitwiseCopyable {
    var store = AttributeStore()
    /// Indexed by `RouterID.rawValue`; nil once the router is removed.
    var tables = RawBuffer<UnsafeMutablePointer<RouterTable>?>()
    var routerIDs = 0
    /// `store.count` and its size as of the end of the last write, for readers: the store changes
    /// while `removeRouter` releases a table outside the lock.
    var attributeSets = 0
    var storeBytes = 0

    @inline(__always)
    func table(_ id: RouterID) -> UnsafeMutablePointer<RouterTable>? {
        let i = Int(id.rawValue)
        return i < routerIDs ? tables[i] : nil
    }

    /// `table(_:)` through a pointer, reading two fields rather than copying the whole core.
    @inline(__always)
    static func table(_ core: UnsafePointer<RIBCore>, _ id: RouterID) -> UnsafeMutablePointer<RouterTable>? {
        let i = Int(id.rawValue)
        return i < core.pointee.routerIDs ? core.pointee.tables[i] : nil
    }

    mutating func addRouter(bgpID: UInt32) -> RouterID {
        precondition(routerIDs < Int(UInt32.max), "RIB: router identifiers exhausted")
        let id = RouterID(rawValue: UInt32(routerIDs))
        let table = UnsafeMutablePointer<RouterTable>.allocate(capacity: 1)
        table.initialize(to: RouterTable(id: id, bgpID: bgpID))
        tables.reserve(routerIDs + 1, filling: nil)
        tables[routerIDs] = table
        routerIDs += 1
        return id
    }

    /// Unlinks a router's table; the caller releases and frees it.
    mutating func detach(_ id: RouterID) -> UnsafeMutablePointer<RouterTable>? {
        guard let table = self.table(id) else { return nil }
        tables[Int(id.rawValue)] = nil
        return table
    }

    /// RFC 4271 §9.1 order within an UPDATE: withdrawals first, then announcements. The
    /// attribute set is interned once for all of the UPDATE's announcements. With `changes`,
    /// every change of a prefix's best path is appended to it (`BestPathChange`).
    mutating func apply(_ update: Update, to router: RouterID, changes: UnsafeMutablePointer<[BestPathChange]>? = nil) -> ApplyResult {
        var result = ApplyResult()
        guard let table = self.table(router) else { return result }
        for route in update.withdrawn {
            let before = changes == nil ? nil : holdBest(route.prefix, table)
            if table.pointee.withdraw(route.prefix, pathID: route.pathID, store: &store) {
                result.withdrawn += 1
            } else {
                result.withdrawnUnknown += 1
            }
            if let changes { noteChange(route.prefix, before, table, changes) }
        }
        if update.mixedNLRI == nil {
            announce(update.announced[...], update.attributes, table, &result, changes)
        } else {
            // RFC 7606 §5.1: NLRI-field routes beside MP_REACH_NLRI carry NEXT_HOP's next-hop.
            for group in update.announcementGroups { announce(group.routes, group.attributes, table, &result, changes) }
        }
        result.pathsHeld = table.pointee.pathCount
        result.prefixesHeld = table.pointee.prefixCount
        publishStoreSize()
        return result
    }

    private mutating func announce(
        _ routes: ArraySlice<Update.Route>, _ attributes: PathAttributes, _ table: UnsafeMutablePointer<RouterTable>,
        _ result: inout ApplyResult, _ changes: UnsafeMutablePointer<[BestPathChange]>?
    ) {
        guard !routes.isEmpty else { return }
        let ref = store.intern(attributes)
        for route in routes {
            let before = changes == nil ? nil : holdBest(route.prefix, table)
            switch table.pointee.announce(route.prefix, pathID: route.pathID, attributes: ref, store: &store) {
            case .added: result.announced += 1
            case .replaced: result.replaced += 1
            case .rejected: result.rejected += 1
            }
            if let changes { noteChange(route.prefix, before, table, changes) }
        }
        store.dropIfUnused(ref)
    }

    /// The prefix's best path before a route is applied, its attributes held so that they stay
    /// readable after the route replaced or withdrew the path (`noteChange` lets them go).
    private mutating func holdBest(_ prefix: IPPrefix, _ table: UnsafeMutablePointer<RouterTable>) -> Path? {
        guard let best = table.pointee.bestPath(prefix) else { return nil }
        store.retain(best.attributes)
        return best
    }

    /// Compares the prefix's best path with `before` and appends the change, if there is one.
    private mutating func noteChange(
        _ prefix: IPPrefix, _ before: Path?, _ table: UnsafeMutablePointer<RouterTable>,
        _ changes: UnsafeMutablePointer<[BestPathChange]>
    ) {
        defer { if let before { store.release(before.attributes) } }
        let after = table.pointee.bestPath(prefix)
        if before == after { return }
        let summaries = store.summaries
        func summary(_ p: Path) -> AttributeSummary { summaries[Int(p.attributes.rawValue)] }
        let reason: BestPathChange.Reason
        switch (before, after) {
        case (nil, nil):
            return
        case (nil, .some):
            reason = .newPrefix
        case (.some, nil):
            reason = .withdraw
        case (.some(let old), .some(let new)):
            if old.pathID == new.pathID {
                // The best path re-announced: an egress shift only if its next-hop moved.
                guard !summary(new).hasNextHop(summary(old).nextHop) else { return }
                reason = .update
            } else if let oldNow = table.pointee.path(prefix, pathID: old.pathID) {
                reason = BestPath.decidingStep(summary(new), summary(oldNow), peerBGPID: table.pointee.bgpID)
            } else {
                reason = .withdraw
            }
        }
        changes.pointee.append(BestPathChange(
            prefix: prefix,
            old: before.map { BestPathChange.Side(pathID: $0.pathID, attributes: store.attributes($0.attributes)) },
            new: after.map { BestPathChange.Side(pathID: $0.pathID, attributes: store.attributes($0.attributes)) },
            reason: reason))
    }

    mutating func publishStoreSize() {
        attributeSets = store.count
        storeBytes = store.tableBytes
    }

    func statistics(routers: [RouterID]) -> RIBStatistics {
        var s = RIBStatistics()
        s.routers = routers.count
        s.attributeSets = attributeSets
        s.tableBytes = storeBytes + tables.bytes
        for id in routers {
            guard let table = table(id) else { continue }
            s.prefixes += table.pointee.prefixCount
            s.paths += table.pointee.pathCount
            s.tableBytes += table.pointee.tableBytes
        }
        return s
    }

    mutating func deallocate() {
        for i in 0..<routerIDs {
            guard let table = tables[i] else { continue }
            table.pointee.deallocate()
            table.deinitialize(count: 1)
            table.deallocate()
        }
        tables.free()
        store.deallocate()
    }
}
