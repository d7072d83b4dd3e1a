// Parses Power Query (M) expressions with Microsoft's parser (@microsoft/powerquery-parser).
// Input on stdin: JSON [{"id": "...", "text": "..."}]. Output on stdout: JSON
// [{"id": "...", "ok": true|false, "stage": "Lex"|"Parse", "error": "..."}].
// Run by electio.powerbi.validate with NODE_PATH set to the repository's node_modules.
"use strict";
const PQP = require("@microsoft/powerquery-parser");

async function main() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const items = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const results = [];
    for (const item of items) {
        const task = await PQP.TaskUtils.tryLexParse(PQP.DefaultSettings, item.text);
        if (PQP.TaskUtils.isOk(task)) {
            results.push({ id: item.id, ok: true, kind: task.ast.kind });
        } else {
            const error = task.error && task.error.message ? task.error.message : String(task.error);
            results.push({ id: item.id, ok: false, stage: task.stage, error: error });
        }
    }
    process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
    process.stderr.write(String(err && err.stack ? err.stack : err));
    process.exit(2);
});
