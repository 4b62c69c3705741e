import ArgumentParser
import Daemon
import PathflowConfig

@main
struct Pathflow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pathflow",
        abstract: "BGP-enriched flow collector: NetFlow v5/v9 and IPFIX into traffic matrices in SQLite.",
        version: PathflowVersion.current,
        subcommands: [Collect.self, ProbeCommand.self, CheckConfig.self, Rib.self, Report.self, Serve.self, RollupCommand.self]
    )
}
