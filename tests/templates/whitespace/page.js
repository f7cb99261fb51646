<html>
    <body>

        <p>   lots    of	 spaces  </p>
		<ul>
    {% for i in items %}
            <li>{{ i }}</li>
    {% end %}
        </ul>
<pre>
   keep    this
      as is
</pre>{{ '' }}
  a　
　b   c
de
    </body>
</html>
