package htmlstream_test

import (
	"fmt"
	"io"
	"os"

	"github.com/helpdeskapps/gateway/caddymodule/htmlstream"
)

func ExampleInjector() {
	in := htmlstream.NewInjector(os.Stdout, []byte(`<script src="/apps/_bridge/client.js"></script>`))
	// The document may arrive in any pieces; "<hea" is held back until the
	// next Write shows it is not "<header".
	io.WriteString(in, "<!DOCTYPE html>\n<html>\n<hea")
	io.WriteString(in, "d>\n<title>CRM</title>\n</head>\n<body></body>\n</html>\n")
	if err := in.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// <!DOCTYPE html>
	// <html>
	// <head><script src="/apps/_bridge/client.js"></script>
	// <title>CRM</title>
	// </head>
	// <body></body>
	// </html>
}
