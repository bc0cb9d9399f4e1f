// The bridge between the app's native side and the webview that shows its Op Maat offers: one
// small versioned protocol of JSON text messages, over whichever JavaScript face the platform
// gives the page.
//
//   platform                     page → native                                 native → page
//   iOS WKWebView                webkit.messageHandlers.opmaat.postMessage(s)   evaluateJavaScript("opmaatBridge.receive(s)")
//   Android, WebViewCompat       opmaatNative.postMessage(s)                   replyProxy.postMessage(s) → opmaatNative.onmessage
//     (addWebMessageListener)
//   Android, addJavascript-      OpmaatAndroid.postMessage(s)                  evaluateJavascript("opmaatBridge.receive(s)")
//     Interface("OpmaatAndroid")
//   React Native WebView         ReactNativeWebView.postMessage(s)             webViewRef.postMessage(s) → "message" event
//   anything else (an iframe)    parent.postMessage(s, "*")                    parent's postMessage(s) → "message" event
//
// Every message is a JSON object `{ "v": 1, "type": …, … }`; text is what every platform carries.
// The page sends `ready`, `decided`, `response` (each with the ledger after it, so the app
// persists the customer's memory where a cleared webview cache cannot lose it, and measurement
// events to forward when it is online), `ledger` and `error`; the app sends `init` (the
// bank-signed profile snapshot, the context, the ledger it kept, optionally the bundle and the
// placements) and later `ledger` (another memory of the customer's, merged in), `context` or
// `convert` (a conversion the app saw, by the slot's token). Each incoming message is checked (`checkIncoming`); a bad one gets an `error` reply
// naming what is wrong, and changes nothing on the page.

/** The protocol version this package speaks; messages of another are refused. */
export const PROTOCOL_VERSION = 1;
/** Largest message accepted from the app, in characters (a bundle travels base64 in `init`). */
export const MAX_MESSAGE_CHARS = 8 * 1024 * 1024;

/** What the app may send, and the fields each message may carry (`*` marks the required ones). */
const INCOMING = {
  init: { snapshot: "*any", context: "object", ledger: "string", bundle: "string", placements: "array" },
  ledger: { ledger: "*string" },
  context: { context: "*object" },
  convert: { token: "*string" },
};

/** The platform faces, in the order they are looked for. */
export const ADAPTERS = [
  {
    name: "ios",
    find: (win) => win.webkit?.messageHandlers?.opmaat,
    send: (face, text) => face.postMessage(text),
  },
  {
    name: "android-web-message",
    find: (win) => win.opmaatNative,
    send: (face, text) => face.postMessage(text),
    listen: (face, win, receive) => {
      face.onmessage = (event) => receive(event.data);
      return () => { face.onmessage = null; };
    },
  },
  {
    name: "android-interface",
    find: (win) => win.OpmaatAndroid,
    send: (face, text) => face.postMessage(text),
  },
  {
    name: "react-native",
    find: (win) => win.ReactNativeWebView,
    send: (face, text) => face.postMessage(text),
    // Android's React Native WebView dispatches on document, iOS's on window.
    listen: (face, win, receive) => {
      const handler = (event) => receive(event.data);
      win.addEventListener("message", handler);
      win.document?.addEventListener("message", handler);
      return () => {
        win.removeEventListener("message", handler);
        win.document?.removeEventListener("message", handler);
      };
    },
  },
  {
    name: "parent-window",
    find: (win) => (win.parent && win.parent !== win ? win.parent : null),
    send: (face, text) => face.postMessage(text, "*"),
    // Only the parent's messages: another frame cannot speak for the app.
    listen: (face, win, receive) => {
      const handler = (event) => { if (event.source === face) receive(event.data); };
      win.addEventListener("message", handler);
      return () => win.removeEventListener("message", handler);
    },
  },
];

/**
 * Why `message` (parsed JSON) is not a message the app may send, or null when it is fine.
 * Checks the version, the type, and each field's presence and type; unknown fields are refused.
 */
export function checkIncoming(message) {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return "expected a JSON object";
  if (message.v !== PROTOCOL_VERSION) return `v: expected protocol version ${PROTOCOL_VERSION}, found ${JSON.stringify(message.v)}`;
  const fields = INCOMING[message.type];
  if (!fields) return `type: expected one of ${Object.keys(INCOMING).join(", ")}, found ${JSON.stringify(message.type)}`;
  for (const key of Object.keys(message)) {
    if (key !== "v" && key !== "type" && key !== "id" && !(key in fields)) return `${key}: unknown field of a ${message.type} message`;
  }
  if ("id" in message && typeof message.id !== "string" && typeof message.id !== "number") return "id: expected a string or a number";
  for (const [key, kind] of Object.entries(fields)) {
    const required = kind.startsWith("*");
    const type = kind.replace("*", "");
    if (!(key in message)) {
      if (required) return `${key}: missing from a ${message.type} message`;
      continue;
    }
    const value = message[key];
    const ok = type === "any" ? value !== null && value !== undefined
      : type === "array" ? Array.isArray(value) && value.every((v) => typeof v === "string")
        : type === "object" ? typeof value === "object" && value !== null && !Array.isArray(value)
          : typeof value === type;
    if (!ok) return `${key}: expected ${type === "array" ? "an array of strings" : `a${type === "object" ? "n" : ""} ${type}`}`;
  }
  return null;
}

/**
 * Connects to the app through the first platform face found on `win` (or `adapter`, by name).
 * `onMessage(message)` gets every checked message from the app; a bad one is answered with an
 * `error` message and never reaches it. Returns `{ adapter, send(type, fields), close() }`, or
 * null when the page runs outside any app (no face at all). Messages the page sends carry `seq`,
 * 1, 2, 3, …: the app can tell a lost or repeated one.
 */
export function connectBridge({ onMessage, win = globalThis, adapter: wanted } = {}) {
  const adapter = ADAPTERS.find((a) => (wanted ? a.name === wanted : true) && a.find(win));
  if (!adapter) return null;
  const face = adapter.find(win);
  let seq = 0;
  const send = (type, fields = {}) => {
    seq += 1;
    adapter.send(face, JSON.stringify({ v: PROTOCOL_VERSION, type, seq, ...fields }));
    return seq;
  };
  const receive = (data) => {
    let message;
    try {
      if (typeof data !== "string") throw new Error("expected JSON text");
      if (data.length > MAX_MESSAGE_CHARS) throw new Error(`longer than ${MAX_MESSAGE_CHARS} characters`);
      message = JSON.parse(data);
    } catch (e) {
      send("error", { code: "bad_message", message: `not a bridge message: ${e.message}` });
      return;
    }
    const problem = checkIncoming(message);
    if (problem) {
      send("error", { code: "bad_message", message: problem, ...(message?.id !== undefined ? { inReplyTo: message.id } : {}) });
      return;
    }
    try {
      onMessage?.(message);
    } catch (e) {
      send("error", { code: e?.code ?? "failed", message: String(e?.message ?? e), ...(message.id !== undefined ? { inReplyTo: message.id } : {}) });
    }
  };
  // evaluateJavaScript / evaluateJavascript land here, on every platform.
  const previous = win.opmaatBridge;
  win.opmaatBridge = { receive, protocol: PROTOCOL_VERSION };
  const unlisten = adapter.listen?.(face, win, receive) ?? (() => {});
  return {
    adapter: adapter.name,
    send,
    close() {
      unlisten();
      if (win.opmaatBridge?.receive === receive) win.opmaatBridge = previous;
    },
  };
}
