import CKernels
import Foundation

/// Cross-attention keys/values of one encoder output, per decoder layer, head by head:
/// each head's keys (packed for the fused kernel when heads have 64 dimensions, else
/// frames × headDim rows), then each head's values (frames × headDim rows).
///
/// Exists so the K/V projection (the biggest decoder cost per window) runs once
/// per encoder output and is reused by every temperature fallback. Laid out per head
/// because every decoding step reads all of it: as the projection's rows, one head's
/// keys were 256 bytes every 2D floats (10 KB apart for large-v3), read at about twice
/// the memory's time (docs/engine.md §5.4).
public struct CrossAttentionCache: Sendable {
    /// Where a head's keys and values lie in a layer's storage.
    struct Layout {
        let frames: Int, heads: Int, headDim: Int
        /// Keys packed by `ds_attn_pack_keys` (64-dimension heads), else rows.
        var keysPacked: Bool { headDim == Int(DS_ATTN_HEAD_DIM) }
        /// Floats of one head's keys.
        var keyFloats: Int { keysPacked ? ds_attn_packed_keys_floats(Int32(frames)) : frames * headDim }
        var valuesOffset: Int { heads * keyFloats }
        var layerFloats: Int { valuesOffset + heads * frames * headDim }

        /// One layer's projection (frames × 2D rows: K in [0, D), V in [D, 2D)) in this layout.
        func arrange(_ m: Matrix) -> [Float] {
            var out = [Float](repeating: 0, count: layerFloats)
            let d = heads * headDim
            m.storage.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    let s = src.baseAddress!, o = dst.baseAddress!
                    for h in 0..<heads {
                        if keysPacked {
                            ds_attn_pack_keys(s + h * headDim, Int32(2 * d), Int32(frames), o + h * keyFloats)
                        } else {
                            let keys = o + h * keyFloats
                            for t in 0..<frames { (keys + t * headDim).update(from: s + t * 2 * d + h * headDim, count: headDim) }
                        }
                        let values = o + valuesOffset + h * frames * headDim
                        for t in 0..<frames { (values + t * headDim).update(from: s + t * 2 * d + d + h * headDim, count: headDim) }
                    }
                }
            }
            return out
        }
    }

    let layout: Layout
    var layers: [[Float]]
    public var audioFrames: Int { layout.frames }
}

extension WhisperModel {
    /// Cross-attention K/V for every decoder layer (computed once per encoder output).
    public func crossAttentionCache(_ enc: EncoderOutput) -> CrossAttentionCache {
        let heads = dimensions.decoderHeads
        let layout = CrossAttentionCache.Layout(frames: enc.states.rows, heads: heads, headDim: dimensions.dModel / heads)
        // Each layer rearranged as soon as it is projected: one row-major copy at a time.
        return BLAS.run {
            CrossAttentionCache(layout: layout, layers: decoder.layers.map { layout.arrange(linear(enc.states, $0.cross.kv)) })
        }
    }

    func makeCache(batch: Int, capacity: Int? = nil) -> SelfAttentionCache {
        SelfAttentionCache(layers: dimensions.decoderLayers, batch: batch,
                           capacity: min(capacity ?? dimensions.textContext, dimensions.textContext), d: dimensions.dModel,
                           heads: dimensions.decoderHeads)
    }

    /// Runs `count` new tokens per hypothesis (tokens beam-major: batch × count) at
    /// positions cache.length ..< cache.length+count; returns the final-LN hidden
    /// states (batch·count × D) and extends the cache. `observeCrossScores` sees
    /// every layer's and head's cross-attention scores before the softmax.
    func decoderForward(tokens: [Int], count: Int, cache: inout SelfAttentionCache, cross: CrossAttentionCache,
                        observeCrossScores: ((_ layer: Int, _ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void)? = nil) -> Matrix {
        decoderForward(tokens: tokens, count: count, cache: &cache, crosses: [(cross, 0..<cache.batch)],
                       observeCrossScores: observeCrossScores)
    }

    /// `decoderForward` for hypotheses of several windows: each window's hypotheses (a range of
    /// the batch) attend to its own encoder output, and every linear layer runs once over all
    /// rows, so a decoder weight is read once per step for the whole batch.
    func decoderForward(tokens: [Int], count: Int, cache: inout SelfAttentionCache,
                        crosses: [(cross: CrossAttentionCache, hypotheses: Range<Int>)],
                        observeCrossScores: ((_ layer: Int, _ head: Int, _ scores: UnsafeBufferPointer<Float>) -> Void)? = nil) -> Matrix {
        let d = dimensions.dModel, heads = dimensions.decoderHeads, dh = d / heads
        let batch = cache.batch
        precondition(tokens.count == batch * count)
        let p0 = cache.length
        cache.reserve(p0 + count)
        var x = Matrix(zeros: batch * count, d)
        for b in 0..<batch {
            for t in 0..<count {
                let tok = tokens[b * count + t], row = b * count + t
                if let q = decoder.quantizedEmbedding {
                    // q · (1/s), then the position: CTranslate2's Dequantize, then its position encoder.
                    x.storage.withUnsafeMutableBufferPointer { q.dequantizedRow(tok, into: $0.baseAddress! + row * d) }
                    for i in 0..<d { x.storage[row * d + i] += decoder.positions.storage[(p0 + t) * d + i] }
                } else if let m = decoder.mappedEmbedding {
                    x.storage.withUnsafeMutableBufferPointer { m.row(tok, into: $0.baseAddress! + row * d) }
                    for i in 0..<d { x.storage[row * d + i] += decoder.positions.storage[(p0 + t) * d + i] }
                } else {
                    for i in 0..<d {
                        x.storage[row * d + i] = decoder.embedding.storage[tok * d + i] + decoder.positions.storage[(p0 + t) * d + i]
                    }
                }
            }
        }
        let rows = batch * count
        let (histories, headStride) = (cache.historyOffsets, cache.headStride)
        for (l, layer) in decoder.layers.enumerated() {
            let n1 = layerNorm(x, gamma: layer.attn.norm.gamma, beta: layer.attn.norm.beta)
            let qkv = linear(n1, layer.attn.qkv)
            qkv.storage.withUnsafeBufferPointer { cache.append(layer: l, qkv: $0.baseAddress!, count: count) }
            var att = [Float](repeating: 0, count: rows * d)
            qkv.storage.withUnsafeBufferPointer { q in
                cache.keys[l].withUnsafeBufferPointer { k in
                    cache.values[l].withUnsafeBufferPointer { v in
                        att.withUnsafeMutableBufferPointer { o in
                            AttentionKernel.attendEach(q: q.baseAddress!, ldq: 3 * d, qRows: count, k: k.baseAddress!,
                                                       v: v.baseAddress!, histories: histories, ldkv: dh,
                                                       kvRows: p0 + count, kvHeadStride: headStride, heads: heads, headDim: dh,
                                                       causalOffset: p0, level: kernelLevel, out: o.baseAddress!, ldo: d)
                        }
                    }
                }
            }
            addInPlace(&x.storage, linear(Matrix(rows: rows, cols: d, storage: att), layer.attn.out).storage)
            // cross-attention
            let n2 = layerNorm(x, gamma: layer.cross.norm.gamma, beta: layer.cross.norm.beta)
            let q2 = linear(n2, layer.cross.q)
            var att2 = [Float](repeating: 0, count: rows * d)
            for (cross, hypotheses) in crosses where !hypotheses.isEmpty {
                let first = hypotheses.lowerBound * count
                q2.storage.withUnsafeBufferPointer { q in
                    cross.layers[l].withUnsafeBufferPointer { kvp in
                        att2.withUnsafeMutableBufferPointer { o in
                            AttentionKernel.attendCross(q: q.baseAddress! + first * d, ldq: d, qRows: hypotheses.count * count,
                                                        cache: kvp.baseAddress!, layout: cross.layout, level: kernelLevel,
                                                        out: o.baseAddress! + first * d, ldo: d,
                                                   observeScores: observeCrossScores.map { f in { h, s in f(l, h, s) } })
                        }
                    }
                }
            }
            addInPlace(&x.storage, linear(Matrix(rows: rows, cols: d, storage: att2), layer.cross.out).storage)
            addInPlace(&x.storage, ffn(layer.ffn, x).storage)
        }
        cache.advance(count)
        return layerNorm(x, gamma: decoder.norm.gamma, beta: decoder.norm.beta)
    }

    /// logits = h · Wᵀ for each row of `hidden` (rows × V); W is the embedding unless untied.
    func logits(_ hidden: Matrix) -> Matrix {
        linear(hidden, decoder.output)
    }
}
