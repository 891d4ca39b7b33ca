/** The All Tools agent: registry, built-in tools and the loop. */
export { ToolRegistry, checkSchema, type RegisteredTool, type ToolOutcome } from './registry.js';
export { runAgent, LocalChatBackend, HttpChatBackend, type AgentOptions, type AgentResult, type AgentStep, type ChatBackend, type BackendReply } from './agent.js';
export { PythonSandbox, pythonTool, type PythonSandboxOptions, type PythonResult } from './tools/python.js';
export { Browser, browserTool, DocumentIndex, BROWSER_TOOL, htmlToText, type BrowserOptions, type IndexedDocument } from './tools/browser.js';
export { functionTool, loadFunctionTools } from './tools/functions.js';
export { evalWorldToolUse, worldToolProblems, type WorldToolEval } from './world-eval.js';
