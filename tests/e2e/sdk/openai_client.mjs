// tests/e2e/sdk/openai_client.mjs — the official OpenAI Node SDK against secai-infer.
// usage: node openai_client.mjs BASE_URL   (prints one JSON object with what it saw)
// Run by tests/e2e/test_infer_server.py when node and the `openai` package are installed
// (npm install --prefix tests/e2e/sdk openai@4, or NODE_PATH pointing at one).
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sk-no-key-required", maxRetries: 0 });
const out = {};
const models = await client.models.list();
out.models = models.data.map((m) => m.id);
const chat = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
  max_tokens: 8, temperature: 0, seed: 3,
});
out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason,
             usage: chat.usage };
const stream = await client.chat.completions.create({
  model: out.models[0],
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello" }],
  max_tokens: 8, temperature: 0, seed: 3, stream: true, stream_options: { include_usage: true },
});
let text = "";
let usage = null, finish = null, chunks = 0;
for await (const c of stream) {
  chunks++;
  if (c.choices.length && c.choices[0].delta.content) text += c.choices[0].delta.content;
  if (c.choices.length && c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
  if (c.usage) usage = c.usage;
}
out.stream = { content: text, finish, usage, chunks };
const comp = await client.completions.create({ model: out.models[0], prompt: "Once", max_tokens: 4,
                                               temperature: 0 });
out.completion = { text: comp.choices[0].text, usage: comp.usage };
try {
  await client.chat.completions.create({ model: "x", messages: [], max_tokens: 1 });
  out.bad = null;
} catch (e) {
  out.bad = { status: e.status, type: e.type ?? e.error?.type, name: e.constructor.name };
}
console.log(JSON.stringify(out));
