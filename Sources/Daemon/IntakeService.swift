import Enrichment
import FlowCollector
import FlowWire
import Logging
import PathflowConfig
import ServiceLifecycle

/// Flow intake: binds the UDP sockets (one per loop, one shard each) and reads until graceful
/// shutdown, then stops reading. The last service to start and the first to stop, so every
/// datagram read is flushed by the views after it.
struct IntakeService: Service {
    let collector: Collector

    func run() async throws {
        let c = collector
        let config = c.config
        let group = try c.shards.group()
        let definitions = c.views.map(\.definition)
        let sampling = SamplingMap(rules: config.samplingMap)
        let renormalizes = config.renormalize
        let keepsASNumbers = config.asSource == .netflow || config.asSource == .longest
        // Flows are looked up in the RIB only when something reads the result.
        let needsPaths = [ASSource.bgp, .longest].contains(config.asSource) || [NetSource.bgp, .longest].contains(config.netSource)
            || config.peerSrcASFromBGP || definitions.contains { $0.primitives.contains(where: \.needsBGP) }
        let enrichment = needsPaths ? c.bgp.map { ($0.rib, c.enricherSettings) } : nil
        let (texts, shards) = (c.texts, c.shards)
        let keepsCounterRecords = config.sflowCounterFile != nil
        // Each exporter is decoded by one shard: the total is shared out between them.
        var decoderLimits = FlowDecoder.Limits()
        decoderLimits.templateLifetime = UInt32(clamping: config.templateLifetime)
        decoderLimits.bytesPerExporter = config.decoderBytesPerExporter
        decoderLimits.bytesTotal = max(decoderLimits.bytesPerExporter, config.decoderBytes / shards.threads)
        // NetFlow/IPFIX on nfacctd_port, sFlow on sfacctd_port; each socket decodes both.
        var endpoints: [(protocolName: String, host: String, port: Int)] = []
        if config.receivesNetFlow { endpoints.append(("netflow", config.listenAddress, config.listenPort)) }
        if config.sflow && !(config.receivesNetFlow && config.sflowListenPort == config.listenPort
            && config.sflowListenAddress == config.listenAddress) {
            endpoints.append(("sflow", config.sflowListenAddress, config.sflowListenPort))
        }
        var intakes: [UDPIntake] = []
        for (n, endpoint) in endpoints.enumerated() {
            var settings = UDPIntake.Settings(
                host: endpoint.host, port: endpoint.port, sockets: shards.threads,
                receiveBufferBytes: config.receiveBufferBytes)
            settings.filter = c.intakeFilter
            // Shards are numbered across listeners: the first listener's 0..<threads, and so on.
            let first = n * shards.threads
            let bound: UDPIntake
            do {
                bound = try await UDPIntake.bind(settings: settings, group: group) { [decoderLimits] index, loop in
                    let enricher = enrichment.map { Enricher(rib: $0.0, texts: texts, settings: $0.1) }
                    let shard = CollectorShard(
                        views: definitions, sampling: sampling, renormalizes: renormalizes, keepsASNumbers: keepsASNumbers,
                        decoderLimits: decoderLimits, enricher: enricher, texts: texts,
                        keepsCounterRecords: keepsCounterRecords)
                    shards.add(shard, index: first + index, on: loop)
                    return shard
                }
            } catch {
                for intake in intakes { await intake.close() }
                throw error
            }
            intakes.append(bound)
            if n == 0 {
                c.boundPort.withLockedValue { $0 = bound.localPort }
                c.metrics.port.withLockedValue { $0 = bound.localPort }
                c.metrics.intake.withLockedValue { $0 = bound }
            }
            if endpoint.protocolName == "sflow" { c.sflowPort.withLockedValue { $0 = bound.localPort } }
            c.logger.info("collecting flows", metadata: [
                "protocol": "\(endpoint.protocolName)",
                "address": "\(endpoint.host)", "port": "\(bound.localPort)", "sockets": "\(bound.channels.count)",
                "kernel_steering": "\(bound.kernelSteering)",
                "receive_buffer_bytes": "\(bound.receiveBufferBytes)",
            ])
        }
        // Until graceful shutdown or cancellation; either way the sockets close.
        try? await gracefulShutdown()
        for intake in intakes { await intake.close() }
        c.logger.debug("intake stopped")
    }
}
