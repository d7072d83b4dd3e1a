// Decodes a TopoJSON with topojson-client (the library family d3 maps use) into GeoJSON.
// Input on stdin: {"topology": {...}, "object": "communes"}. Output: a GeoJSON FeatureCollection.
// Run by electio.powerbi.validate with NODE_PATH set to the repository's node_modules.
"use strict";
const topojson = require("topojson-client");

async function main() {
    const chunks = [];
    for await (const chunk of process.stdin) chunks.push(chunk);
    const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    const object = input.topology.objects[input.object];
    if (!object) throw new Error(`no object ${input.object} in the topology`);
    process.stdout.write(JSON.stringify(topojson.feature(input.topology, object)));
}

main().catch((err) => {
    process.stderr.write(String(err && err.message ? err.message : err));
    process.exit(2);
});
