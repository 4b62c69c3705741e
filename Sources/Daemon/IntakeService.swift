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
        var settings = UDPIntake.Settings(
            host: config.listenAddress, port: config.listenPort, sockets: shards.threads,
            receiveBufferBytes: config.receiveBufferBytes)
        settings.filter = c.intakeFilter
        // Each exporter is decoded by one shard: the total is shared out between them.
        var decoderLimits = FlowDecoder.Limits()
        decoderLimits.templateLifetime = UInt32(clamping: config.templateLifetime)
        decoderLimits.bytesPerExporter = config.decoderBytesPerExporter
        decoderLimits.bytesTotal = max(decoderLimits.bytesPerExporter, config.decoderBytes / shards.threads)
        let bound = try await UDPIntake.bind(settings: settings, group: group) { [decoderLimits] index, loop in
            let enricher = enrichment.map { Enricher(rib: $0.0, texts: texts, settings: $0.1) }
            let shard = CollectorShard(
                views: definitions, sampling: sampling, renormalizes: renormalizes, keepsASNumbers: keepsASNumbers,
                decoderLimits: decoderLimits, enricher: enricher)
            shards.add(shard, index: index, on: loop)
            return shard
        }
        c.boundPort.withLockedValue { $0 = bound.localPort }
        c.metrics.port.withLockedValue { $0 = bound.localPort }
        c.metrics.intake.withLockedValue { $0 = bound }
        c.logger.info("collecting flows", metadata: [
            "address": "\(config.listenAddress)", "port": "\(bound.localPort)", "sockets": "\(bound.channels.count)",
            "kernel_steering": "\(bound.kernelSteering)",
            "receive_buffer_bytes": "\(bound.receiveBufferBytes)",
        ])
        // Until graceful shutdown or cancellation; either way the sockets close.
        try? await gracefulShutdown()
        await bound.close()
        c.logger.debug("intake stopped")
    }
}
