import DropscribeCore
import Foundation
import Testing
import Transcripts

@Suite struct ConfigurationTests {
    @Test func theExampleFileHoldsExactlyTheDefaults() throws {
        let file = Binary.repositoryRoot + "/config.example.toml"
        var parsed = try Configuration.load(file: file)
        parsed.baseDirectory = Configuration().baseDirectory
        #expect(parsed == Configuration(), "config.example.toml and the built-in defaults disagree")
    }

    @Test func unknownKeyNamesTheKeyTheValueAndTheFile() {
        do {
            _ = try Configuration.parse("[watch]\nsettle_secs = 3\n", file: "my.toml")
            Issue.record("an unknown key must be refused")
        } catch {
            #expect(error.description == "my.toml: watch.settle_secs = 3: unknown key (see config.example.toml for every key)")
        }
    }

    @Test(arguments: [
        ("workers = 0", "workers = 0: must be between 1 and 64"),
        ("workers = \"two\"", "workers = \"two\": must be a whole number"),
        ("worker_max_jobs = 0", "worker_max_jobs = 0: must be between 1 and 1000000"),
        ("formats = [\"txt\", \"docx\"]", "unknown format \"docx\""),
        ("[model]\ntask = \"summarise\"", "model.task = \"summarise\": must be one of transcribe, translate"),
        ("[watch]\ninotify = \"yes\"", "watch.inotify = \"yes\": must be true or false"),
        ("[queue]\non_change = \"maybe\"", "queue.on_change = \"maybe\": must be one of redo, ignore"),
        ("[queue]\nheartbeat_seconds = 100", "must be at most half of queue.lease_timeout_seconds"),
        ("output_permissions = \"rw-r--r--\"", "must be \"source\" or an octal mode"),
        ("model = 3", "model = 3: must be a table"),
        ("[model]\nlanguage = \"klingon\"", "model.language = \"klingon\": is not a Whisper language code"),
        ("inbox = ", "not valid TOML at line 1"),
    ])
    func badValuesAreRefusedWithAClearMessage(_ toml: String, _ expected: String) {
        expectRefused(toml, expected)
    }

    @Test func goodValuesAreRead() throws {
        let c = try Configuration.parse("""
            workers = 2
            worker_max_jobs = 1
            formats = ["srt", "tsv"]
            [model]
            beam_size = 1
            temperatures = [0, 0.5]
            [watch]
            inotify = false
            settle_seconds = 0.5
            exclude = ["*.draft"]
            [queue]
            max_attempts = 5
            """)
        #expect(c.workers == 2)
        #expect(c.workerMaxJobs == 1)
        #expect(c.formats == [.srt, .tsv])
        #expect(c.model.beamSize == 1)
        #expect(c.model.temperatures == [0, 0.5])
        #expect(!c.watch.inotify)
        #expect(c.watch.settleSeconds == 0.5)
        #expect(c.watch.exclude == ["*.draft"])
        #expect(c.queue.maxAttempts == 5)
    }

    /// `--format`, `--task` and `--compute-type` go through the parsers of the keys they
    /// override: a refused value gets the same explanation from the file and from the flag.
    @Test(arguments: [
        ("formats = [\"txt\", \"docx\"]", "formats", "--format", "txt,docx"),
        ("[model]\ntask = \"summarise\"", "model.task", "--task", "summarise"),
        ("[model]\ncompute_type = \"int4\"", "model.compute_type", "--compute-type", "int4"),
    ])
    func aFlagIsRefusedWithTheConfigFilesExplanation(_ toml: String, _ key: String, _ flag: String, _ value: String) throws {
        let fromFile = try #require(throws: ConfigError.self) { try Configuration.parse(toml, file: "c.toml") }
        let fromFlag = try #require(throws: ConfigError.self) {
            switch flag {
            case "--format": _ = try Configuration.flag(flag, value, ConfigValues.formats(commaSeparated:))
            case "--task": _ = try Configuration.flag(flag, value, ConfigValues.task)
            default: _ = try Configuration.flag(flag, value, ConfigValues.computeType)
            }
        }
        #expect(fromFile.key == key)
        #expect(fromFlag.key == flag)
        #expect(fromFlag.problem == fromFile.problem)
        #expect(fromFlag.description == "command line: \(flag) = \"\(value)\": \(fromFile.problem)")

        // And the binary says exactly that, before loading any model.
        let (status, _, err) = try Binary.run(["transcribe", flag, value, "no-such-file.wav"])
        #expect(status == 2)
        #expect(err == "dropscribe: \(fromFlag.description)\n")
    }

    @Test func theBinaryRefusesABadConfigWithExitCode2() throws {
        let ws = Workspace(config: "[watch]\nbogus = 1")
        let (status, _, err) = try Binary.run(["watch", "--config", ws.configFile])
        #expect(status == 2)
        #expect(err.contains("watch.bogus"))
        #expect(err.contains(ws.configFile))
    }

    @Test func everySubcommandExplainsItself() throws {
        for cmd in ["watch", "transcribe", "status", "retry", "reset"] {
            let (status, out, _) = try Binary.run([cmd, "--help"])
            #expect(status == 0)
            #expect(out.contains("USAGE: dropscribe \(cmd)"), "\(cmd) --help")
        }
        let (status, out, _) = try Binary.run(["--version"])
        #expect(status == 0)
        let lines = out.split(separator: "\n")
        #expect(lines.first == "0.1.0")
        #expect(lines.count == 3 && lines[1].hasPrefix("kernels ") && lines[2].hasPrefix("OpenBLAS core "), "the kernel paths: \(out)")
    }
}
