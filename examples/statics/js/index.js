document.querySelector("h1").title = "static files";
