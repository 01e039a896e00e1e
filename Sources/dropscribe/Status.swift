import ArgumentParser
import DropscribeCore
import Foundation
import HotFolder
import SystemPackage

/// `dropscribe status`: the folder's state, read from its markers only.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the jobs of a folder: counts per state, progress of running jobs, failures.",
        discussion: "Reads only the folder (markers and journals); works from any host that sees it.")

    @Argument(help: ArgumentHelp("The inbox folder (default: `inbox` from the config).", valueName: "dir"))
    var directory: String?

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print JSON for scripts (every failure, always).")
    var json = false

    @Flag(help: "List every failure (by default the first \(StatusReport.failuresShown) and how many more).")
    var all = false

    @Flag(help: "With --json: also list every done job with the rule it ran under, its model and outputs (reads each .done marker).")
    var done = false

    func run() async throws {
        try await reporting {
            var config = try options.load()
            if let directory { config.inbox = FileManager.default.currentDirectoryPath.appendingPath(directory) }
            let layout: InboxLayout
            do { layout = try config.layout() } catch { throw CommandFailure.config("\(error)") }
            let report = StatusReport.collect(layout: layout, options: config.queueOptions, listingDone: done && json)
            print(json ? report.json() : report.render(failureLimit: all ? nil : StatusReport.failuresShown))
        }
    }
}

/// `dropscribe retry`: failed → pending.
struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue failed jobs again (the same as deleting their .failed marker).")

    @OptionGroup var selection: JobSelection

    func run() async throws {
        try await reporting {
            let (queue, jobs) = try selection.resolve(state: .failed)
            var count = 0
            for job in jobs {
                do {
                    if try queue.retry(job, now: Date().timeIntervalSince1970) {
                        count += 1
                        print("retrying \(UntrustedText.printable(job.relativePath, limit: 4096))")
                    }
                } catch {
                    FileHandle.standardError.write(Data("dropscribe: \(error)\n".utf8))
                }
            }
            print("\(count) job\(count == 1 ? "" : "s") queued again")
        }
    }
}

/// `dropscribe reset`: remove markers so files are examined as new.
struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forget jobs: remove their markers, so the files are examined as new (outputs are kept).",
        discussion: "Do not reset a job that a running daemon is processing; its worker would finish it anyway.")

    @OptionGroup var selection: JobSelection

    func run() async throws {
        try await reporting {
            let (queue, jobs) = try selection.resolve(state: nil)
            var count = 0
            for job in jobs where queue.reset(job) > 0 {
                count += 1
                print("reset \(UntrustedText.printable(job.relativePath, limit: 4096))")
            }
            print("\(count) job\(count == 1 ? "" : "s") reset")
        }
    }
}

/// The jobs `retry` and `reset` act on: paths, or --all of an inbox.
struct JobSelection: ParsableArguments {
    @Argument(help: ArgumentHelp("Job files (or their markers).", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Every job in the inbox (for retry: every failed one).")
    var all = false

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("The inbox folder, with --all (default: `inbox` from the config).", valueName: "dir"))
    var inbox: String?

    /// Turns the paths (or --all) into jobs of one inbox.
    func resolve(state: JobState?) throws -> (JobQueue, [Job]) {
        guard all != !paths.isEmpty else { throw CommandFailure.usage("name job files, or use --all (not both)") }
        var config = try options.load()
        let cwd = FileManager.default.currentDirectoryPath
        if let inbox { config.inbox = cwd.appendingPath(inbox) }
        if !all {
            // The inbox is the folder of the first path unless given; paths may be markers.
            if inbox == nil, options.file == nil {
                config.inbox = (cwd.appendingPath(paths[0]) as NSString).deletingLastPathComponent
            }
        }
        let layout: InboxLayout
        do { layout = try config.layout() } catch { throw CommandFailure.config("\(error)") }
        let queue = JobQueue(layout: layout, options: config.queueOptions)
        if all {
            let snapshot = FolderScanner(layout: layout, statJobs: false).scan(now: Date().timeIntervalSince1970)
            let jobs = snapshot.entries.values.filter { state == nil ? !$0.markers.isEmpty : $0.state == state }.map(\.job)
            return (queue, jobs.sorted { $0.relativePath < $1.relativePath })
        }
        var jobs: [Job] = []
        for p in paths {
            var path = cwd.appendingPath(p)
            if let (name, _) = JobState.parse(markerName: path) { path = name }
            guard let real = realpathOf((path as NSString).deletingLastPathComponent) else {
                throw CommandFailure.usage("\(p): no such folder")
            }
            let full = (real as NSString).appendingPathComponent((path as NSString).lastPathComponent)
            let root = layout.root.string
            guard full.hasPrefix(root + "/") else { throw CommandFailure.usage("\(p) is not inside the inbox \(root)") }
            jobs.append(layout.job(relativePath: String(full.dropFirst(root.count + 1))))
        }
        return (queue, jobs)
    }

    func realpathOf(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}
