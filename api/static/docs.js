// Starts Swagger UI on /docs with the document embedded in the page (a JSON data block):
// loaded from this file, not an inline script, for the 'self' Content-Security-Policy.
const spec = JSON.parse(document.getElementById("openapi-document").textContent);
window.SwaggerUIBundle({
  spec,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
