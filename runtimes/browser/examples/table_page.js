// The example page: a browser runner (tag "table") whose module draws into #rows.
// Open /runtimes/browser/examples/table.html?name=tab-1#token=T, then deploy table_flow.json.
import { connect } from '../polyflow.js';

const query = new URLSearchParams(location.search);
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const name = query.get('name') || 'table-tab';
document.getElementById('name').textContent = name;
const link = document.getElementById('link');

connect({
  name,
  tags: ['table'],
  token: token || undefined,
  onChange: (runner) => {
    link.textContent = runner.link === 'connected' && runner.modules === 'held' ? 'held' : runner.link;
    link.dataset.state = runner.link;
  },
});
