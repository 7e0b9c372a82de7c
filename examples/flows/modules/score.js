// Scores a word: its length, and a bonus for vowels. Throws on an empty word,
// so a step can show an error.
exports.onMessage = (msg, ctx) => {
  const word = msg.payload;
  if (word.length === 0) throw new Error('empty word');
  const vowels = (word.match(/[aeiou]/g) || []).length;
  ctx.state.scored = (ctx.state.scored || 0) + 1;
  return { word, score: word.length + vowels };
};
