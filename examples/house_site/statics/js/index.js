// index.js
$(function () {});
