// A browser module (examples/flows/browser.json): a live table of what reaches it, drawn on the
// page of the tab that runs it (the runner page's #modules-area, or the page's body), newest row
// first, at most `config.rows` rows. The message goes on unchanged, with its row number.
exports.init = (ctx) => {
  ctx.state.shown = ctx.state.shown || 0;
};

function table(ctx) {
  const id = `polyflow-${ctx.flowId}-${ctx.moduleId}`;
  let found = document.getElementById(id);
  if (found === null) {
    found = document.createElement('table');
    found.id = id;
    found.className = 'polyflow-live-table';
    const caption = document.createElement('caption');
    caption.textContent = `${ctx.flowId}/${ctx.moduleId}: what reaches it`;
    const head = document.createElement('tr');
    for (const title of ['#', 'payload', 'time']) {
      const cell = document.createElement('th');
      cell.textContent = title;
      head.append(cell);
    }
    found.append(caption, document.createElement('thead'), document.createElement('tbody'));
    found.tHead.append(head);
    (document.getElementById('modules-area') || document.body).append(found);
  }
  return found.tBodies[0];
}

exports.onMessage = (msg, ctx) => {
  ctx.state.shown += 1;
  const row = document.createElement('tr');
  for (const text of [String(ctx.state.shown), JSON.stringify(msg.payload), new Date().toLocaleTimeString()]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  const body = table(ctx);
  body.prepend(row);
  while (body.rows.length > (ctx.config.rows || 20)) body.lastElementChild.remove();
  console.log(`row ${ctx.state.shown}`);
  return { row: ctx.state.shown, payload: msg.payload };
};
