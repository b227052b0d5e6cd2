-- cors.preflight: lighttpd answers the browser's preflight itself (a 204; mod_setenv adds the
-- Access-Control-* headers); forwarded, Ollama would refuse the foreign Origin with 403.
if lighty.r.req_attr["request.method"] == "OPTIONS" then
  return 204
end
return 0
