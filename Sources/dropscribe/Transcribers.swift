import DropscribeCore
import Foundation
import Logging
import Transcripts
import Whisper

/// Builds the production transcriber from the configuration.
enum Transcribers {
    static func whisper(config: Configuration, logger: Logger) throws -> WhisperTranscriber {
        let path: String
        do { path = try config.modelFolder() } catch { throw CommandFailure.config("\(error)") }
        let threads = config.threadsPerWorker > 0
            ? config.threadsPerWorker
            : max(1, ProcessInfo.processInfo.activeProcessorCount / max(1, config.workers))
        let computeType = config.model.computeType
        let started = Date()
        let model: WhisperModel
        do {
            model = try WhisperModel.load(directory: path, threads: threads, computeType: computeType)
        } catch {
            throw CommandFailure.config("model: \(error)")
        }
        do { try model.checkLanguage(config.model.decodingOptions.language) } catch {
            throw CommandFailure.config("model.language: \(error)")
        }
        if let note = model.computeTypeNote { logger.warning("\(note)") }
        // At info: which kernels run (the CPU's level or DROPSCRIBE_CPU's) belongs in every start log.
        logger.info("model loaded", metadata: ["model": "\(path)", "load.s": "\(String(format: "%.3f", Date().timeIntervalSince(started)))",
                                               "threads": "\(threads)", "compute_type": "\(model.computeType.rawValue)",
                                               "kernels": "\(model.kernelLevel)", "cpu": "\(KernelLevel.detected)"])
        var transcriber = WhisperTranscriber(model: model, options: config.model.decodingOptions, formats: config.formats,
                                             modelName: (path as NSString).lastPathComponent)
        transcriber.allowPlaylists = config.media.allowPlaylists
        do { transcriber.speechDetection = try SpeechDetection.load(config) } catch {
            throw CommandFailure.config("vad.model: \(error)")
        }
        return transcriber
    }
}
