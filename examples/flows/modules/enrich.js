// Adds the word count and the runtime that did it; the output is unconnected,
// so it is a flow output (see it with `flowctl tail`).
exports.onMessage = (msg, ctx) => {
  const { words, n } = msg.payload;
  ctx.send('out', { n, words, count: words.length, by: `node ${process.version}` });
};
