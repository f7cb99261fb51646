var card = 1;
