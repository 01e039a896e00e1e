/// The model's shape from model.bin's variables (docs/engine.md §2.2).
extension WeightBuilder {
    /// Width, heads, layers, vocabulary and contexts, read from the shapes of the variables
    /// that carry them, each checked against what the rest of the engine is built for; reads
    /// no weight values, so it costs the header walk only.
    func dimensions() throws(WhisperError) -> ModelDimensions {
        let conv1 = try variable("encoder/conv1/weight")
        guard conv1.shape.count == 3, conv1.shape[2] == 3 else {
            throw .badShape(path: path, name: "encoder/conv1/weight", expected: [-1, -1, 3], found: conv1.shape)
        }
        let d = conv1.shape[0], nMels = conv1.shape[1]
        let emb = try variable("decoder/embeddings/weight")
        guard emb.shape.count == 2, emb.shape[1] == d else {
            throw .badShape(path: path, name: "decoder/embeddings/weight", expected: [-1, d], found: emb.shape)
        }
        let vocab = emb.shape[0]
        let ffnV = try variable("encoder/layer_0/ffn/linear_0/weight")
        let ffn = ffnV.shape.first ?? 0
        let encPos = try variable("encoder/position_encodings/encodings")
        let decPos = try variable("decoder/position_encodings/encodings")
        guard encPos.shape.count == 2, encPos.shape[1] == d else {
            throw .badShape(path: path, name: "encoder/position_encodings/encodings", expected: [1500, d], found: encPos.shape)
        }
        guard decPos.shape.count == 2, decPos.shape[1] == d else {
            throw .badShape(path: path, name: "decoder/position_encodings/encodings", expected: [448, d], found: decPos.shape)
        }
        // The features, windows and prompts are built for Whisper's shapes: 80 or 128 mel
        // bins, 1500 encoder positions (a 30-second window) and room for a prompt.
        guard nMels == 80 || nMels == 128 else {
            throw .badShape(path: path, name: "encoder/conv1/weight", expected: [d, 80, 3], found: conv1.shape)
        }
        guard encPos.shape[0] == 1500 else {
            throw .badShape(path: path, name: "encoder/position_encodings/encodings", expected: [1500, d], found: encPos.shape)
        }
        guard decPos.shape[0] >= 16 else {
            throw .badShape(path: path, name: "decoder/position_encodings/encodings", expected: [448, d], found: decPos.shape)
        }
        let encHeads = try scalar("encoder/num_heads"), decHeads = try scalar("decoder/num_heads")
        guard encHeads > 0, d % encHeads == 0, decHeads > 0, d % decHeads == 0 else {
            throw .malformedModel(path: path, reason: "num_heads \(encHeads)/\(decHeads) do not divide d_model \(d)")
        }
        let dims = ModelDimensions(nMels: nMels, dModel: d, encoderHeads: encHeads, decoderHeads: decHeads,
                                   encoderLayers: layerCount("encoder"), decoderLayers: layerCount("decoder"),
                                   ffn: ffn, vocabSize: vocab, audioContext: encPos.shape[0], textContext: decPos.shape[0])
        guard dims.encoderLayers > 0, dims.decoderLayers > 0 else {
            throw .malformedModel(path: path, reason: "no encoder or decoder layers")
        }
        if let act = bin.variables["decoder/activation"], act.count != 1 || bin.floats(act, level: level)[0] != 3 {
            throw .malformedModel(path: path, reason: "decoder/activation \(bin.floats(act, level: level)) is not GELU (3)")
        }
        return dims
    }
}
