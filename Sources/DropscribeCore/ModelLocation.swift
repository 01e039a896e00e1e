import Foundation
import ModelStore

/// Where the configured model's folder is: `[model] name` looked up in `models_dir`, or `[model] path`.
///
/// Exists so every place that needs the model (the transcriber, memory admission, the daemon's start
/// check) agrees on one folder, and so a name that is not installed fails with the command that
/// installs it rather than with "missing config.json" deep in a worker.
public enum ModelLocation {
    /// `[model] name`: a name faster-whisper knows, or `owner/name` on the Hub.
    public static func name(_ value: String) throws(ConfigValueError) -> String {
        guard ModelCatalog.lookUp(value) != nil else {
            throw ConfigValueError(problem: "is not a model name (one of \(ModelCatalog.names.joined(separator: ", ")), or owner/name on the Hugging Face Hub)")
        }
        return value
    }

    /// The value of `--model`: an existing folder stays a folder (`path`); otherwise a catalog name
    /// becomes `name`, and anything else a folder that the loader will report as missing.
    public static func apply(commandLine value: String, cwd: String, to config: inout Configuration) {
        let asPath = value.hasPrefix("/") ? value : cwd + "/" + value
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: asPath, isDirectory: &isDirectory), ModelCatalog.lookUp(value) != nil {
            config.model.name = value
            return
        }
        config.model.name = ""
        config.model.path = asPath
    }
}

extension Configuration {
    /// The model folder to load. A bare catalog name in `path` (`path = "small"`) is taken as a name
    /// when no such folder exists, so both spellings work.
    public func modelFolder() throws(ConfigError) -> String {
        let modelsDirectory = resolve(model.modelsDir)
        var name = model.name
        if name.isEmpty, !model.path.contains("/"), ModelCatalog.lookUp(model.path) != nil,
           !FileManager.default.fileExists(atPath: resolve(model.path)) {
            name = model.path
        }
        guard !name.isEmpty else { return resolve(model.path) }
        do {
            return try InstalledModels.resolve(name, modelsDirectory: modelsDirectory)
        } catch {
            throw ConfigError(file: "(configuration)", key: model.name.isEmpty ? "model.path" : "model.name",
                              value: "\"\(name)\"", problem: error.description)
        }
    }

    /// Every model the daemon may load (the global one and each rule's), each checked to be a model
    /// folder, so a typo stops the start with the rule that names it rather than failing jobs one by one.
    public func checkModels() throws(ConfigError) {
        var candidates: [(key: String, config: Configuration)] = [(model.name.isEmpty ? "model.path" : "model.name", self)]
        for (index, rule) in rules.enumerated() where rule.model != nil {
            var c = self
            rule.apply(to: &c)
            candidates.append(("[[rule]] \(index + 1) (match \(rule.match.map { "\"\($0)\"" }.joined(separator: ", "))).model", c))
        }
        for (key, c) in candidates {
            let folder: String
            do { folder = try c.modelFolder() } catch {
                throw ConfigError(file: error.file, key: key, value: error.value, problem: error.problem)
            }
            guard InstalledModels.isComplete(folder) else {
                throw ConfigError(file: "(configuration)", key: key, value: "\"\(folder)\"",
                                  problem: "is not a model folder (config.json and model.bin are needed; `dropscribe models list` shows the installed ones)")
            }
        }
    }
}
