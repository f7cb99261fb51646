<html>
<body>
<p> lots of spaces </p>
<ul>

<li>1</li>

<li>2</li>

        </ul>
<pre>
   keep    this
      as is
</pre>
a
b   c
de
</body>
</html>
