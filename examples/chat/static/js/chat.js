// The seed's chat page script, without jQuery: one WebSocket to /chat on the
// page's own host, every message appended as a paragraph, sendMsg() sending
// the textarea's text. (The seed appends e.data as HTML; this sets it as text.)
var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/chat");
ws.onmessage = function (e) {
    var p = document.createElement("p");
    p.textContent = e.data;
    document.getElementById("contents").appendChild(p);
};
function sendMsg() {
    var msg = document.getElementById("msg");
    ws.send(msg.value);
    msg.value = "";
}
