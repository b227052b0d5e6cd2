// Serves cors_page.html and records the result the page posts back.
//   node page_server.js RESULT_FILE   (prints the bound port)
const http = require('http');
const fs = require('fs');
const path = require('path');
const [out] = process.argv.slice(2);
const page = fs.readFileSync(path.join(__dirname, 'cors_page.html'));
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/result') {
    let body = '';
    req.on('data', d => (body += d));
    req.on('end', () => {
      fs.writeFileSync(out, body);
      res.end('ok');
    });
    return;
  }
  res.writeHead(200, {'Content-Type': 'text/html'});
  res.end(page);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
