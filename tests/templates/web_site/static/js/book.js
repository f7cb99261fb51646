var book = 1;
