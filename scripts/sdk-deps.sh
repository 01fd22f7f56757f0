#!/bin/sh
# scripts/sdk-deps.sh — optional: installs the official OpenAI Node SDK (npm `openai`, v4) into
# tests/e2e/sdk/node_modules so tests/e2e/test_infer_server.py can drive secai-infer with it.
# Only when node and npm are already on the machine (Debian's nodejs/npm); never fails the
# build — without it that one test is skipped and says why.
cd "$(dirname "$0")/.." || exit 0
if [ -d tests/e2e/sdk/node_modules/openai ]; then
	echo "sdk-deps: OpenAI Node SDK present"
	exit 0
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "sdk-deps: node/npm not installed: the OpenAI Node SDK test will be skipped" \
		"(apt-get install nodejs npm to run it)"
	exit 0
fi
if timeout 180 npm install --prefix tests/e2e/sdk --no-audit --no-fund --no-save --silent \
	openai@4 >/dev/null 2>&1; then
	echo "sdk-deps: installed the OpenAI Node SDK into tests/e2e/sdk/node_modules"
else
	echo "sdk-deps: npm install openai@4 failed (offline?): the SDK test will be skipped"
fi
exit 0
