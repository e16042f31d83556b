if [[ -n "${MINIMIZE_DOWNTIME:-}" ]]; then
  echo "${_group}Waiting for Acme Errors to start ..."
  $dc up -d --remove-orphans
  echo "${_endgroup}"
else
  echo ""
  echo "-----------------------------------------------------------------"
  echo ""
  echo "You're all done! Run the following command to get Acme Errors running:"
  echo ""
  echo "  $dc_base up -d"
  echo ""
  echo "-----------------------------------------------------------------"
fi
