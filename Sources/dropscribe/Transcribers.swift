import DropscribeCore
import Foundation
import Logging
import Transcripts
import Whisper

/// Builds the production transcriber from the configuration.
enum Transcribers {
    static func whisper(config: Configuration, logger: Logger) throws -> WhisperTranscriber {
        let path = config.resolve(config.model.path)
        let threads = config.threadsPerWorker > 0
            ? config.threadsPerWorker
            : max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, config.workers))
        let started = Date()
        let model: WhisperModel
        do {
            model = try WhisperModel.load(directory: path, threads: threads)
        } catch {
            throw CommandFailure.config("model: \(error)")
        }
        logger.debug("model loaded", metadata: ["model": "\(path)", "load.s": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
                                                "threads": "\(threads)"])
        if config.model.computeType != "float32" {
            throw CommandFailure.config("model.compute_type = \"\(config.model.computeType)\": only float32 is implemented (reduced precision is not built yet)")
        }
        let formats: [OutputFormat]
        do { formats = try OutputFormat.parseList(config.formats) } catch { throw CommandFailure.config("formats: \(error)") }
        return WhisperTranscriber(model: model, options: config.model.decodingOptions, formats: formats,
                                  modelName: (path as NSString).lastPathComponent)
    }
}
