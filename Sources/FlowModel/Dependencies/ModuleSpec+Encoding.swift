extension ModuleSpec {
    /// The document's field names (also read by `init(from:)`).
    enum CodingKeys: String, CodingKey {
        case id, runtime, code, file, inputs, outputs, config, tags, requireTags, timeoutMs, dependencies
    }

    /// As synthesized, except that an empty `dependencies` is left out, so
    /// documents and runner-protocol messages of modules without packages
    /// are byte for byte what they were before dependencies existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(runtime, forKey: .runtime)
        try c.encodeIfPresent(code, forKey: .code)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encode(inputs, forKey: .inputs)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(config, forKey: .config)
        try c.encode(tags, forKey: .tags)
        try c.encode(requireTags, forKey: .requireTags)
        try c.encodeIfPresent(timeoutMs, forKey: .timeoutMs)
        if !dependencies.isEmpty { try c.encode(dependencies, forKey: .dependencies) }
    }
}
