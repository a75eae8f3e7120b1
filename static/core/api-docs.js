// Staff API documentation: Swagger UI over /api/openapi.json. "Try it out" calls go out
// with the session cookie, and unsafe ones with the session's CSRF token.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    domNode: root,
    deepLinking: true,
    validatorUrl: null,  // never send the document to an outside validator
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: function (req) {
      if (!/^(GET|HEAD|OPTIONS)$/i.test(req.method || "GET")) {
        req.headers["X-CSRF-Token"] = csrf;
      }
      req.credentials = "same-origin";
      return req;
    }
  });
}());
